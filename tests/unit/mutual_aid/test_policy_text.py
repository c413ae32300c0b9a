"""A policy uploaded as text is checked like a file and gets the file's digest."""

from pathlib import Path

import pytest

from services.mutual_aid.domain.policy import MutualAidPolicy, document_from_text
from shared.policy import PolicyError, read_policy

FILE = Path(__file__).resolve().parents[3] / "config" / "policy" / "mutual_aid" / "2018-v1.toml"


def test_text_and_file_share_version_and_digest():
    text = FILE.read_text(encoding="utf-8")
    uploaded = document_from_text(text, "upload")
    assert (uploaded.version, uploaded.digest) == (
        read_policy(FILE).version,
        read_policy(FILE).digest,
    )
    assert MutualAidPolicy.from_document(uploaded).plan("A").contribution == 3600


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('"mutual_aid/2018-v1"', '"dossiers/x"'), "version"),
        (("ratio = 0.30", "ratio = 1.5"), "plans.A.ratio"),
        (("effective_from = 2017-11-01", 'effective_from = "2017-11-01"'), "effective_from"),
    ],
)
def test_bad_text_names_the_key(change, key):
    text = FILE.read_text(encoding="utf-8").replace(*change)
    with pytest.raises(PolicyError) as error:
        MutualAidPolicy.from_document(document_from_text(text, "upload"))
    assert error.value.key == key


def test_text_that_is_not_toml_is_refused():
    with pytest.raises(PolicyError, match="not valid TOML"):
        document_from_text("version = ", "upload")
