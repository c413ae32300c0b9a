"""Skill and occupation names as matching compares them: full/half width folded (NFKC), Latin
letters lower-cased, spaces and separators dropped, traditional characters written simplified,
then a policy synonym mapped to the name it stands for (so 焊工 and 电焊工 meet).

Traditional → simplified is a table of the characters job and skill names use (written for the
names seen on fairs' sheets: trades, machines, offices, care, food, transport) rather than a
dependency: a full converter (OpenCC's tables) is several MB for the few hundred characters
these names need, and a character outside the table is compared as written."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# Pairs of (traditional, simplified), one character each; read as a translation table.
_TRADITIONAL = (
    "電电銲焊機机車车駕驾駛驶員员師师計计會会設设護护醫医藥药營营業业銷销廚厨維维裝装製制"
    "術术學学數数據据庫库網网絡络務务財财經经導导遊游運运輸输倉仓儲储鉗钳鍛锻鑄铸銑铣縫缝"
    "紉纫織织紡纺飲饮廳厅麵面點点質质檢检驗验測测試试種种養养農农產产環环衛卫潔洁門门監监"
    "線线纜缆儀仪錶表鐘钟鋼钢鐵铁礦矿開开發发軟软體体圖图畫画廣广攝摄視视頻频輯辑編编譯译"
    "語语貿贸報报關关鉚铆塗涂噴喷壓压鑽钻氣气鍋锅爐炉樂乐兒儿園园課课講讲訓训練练統统審审"
    "稅税銀银貸贷險险纖纤帶带傳传動动構构築筑樓楼層层橋桥樑梁礎础預预價价買买賣卖購购採采"
    "辦办處处檔档記记錄录資资訊讯聯联繫系係系專专職职級级證证書书駐驻廠厂區区縣县鄉乡鎮镇"
    "場场個个們们來来時时後后與与為为對对應应實实際际問问題题則则規规範范標标準准軍军隊队"
    "長长總总負负責责組组協协調调衝冲梯梯鋁铝銅铜鎂镁鋰锂膠胶針针燙烫髮发藝艺豐丰餅饼釀酿"
    "葉叶鮮鲜魚鱼雞鸡豬猪獸兽療疗復复陪陪診诊單单帳账賬账談谈諮咨詢询戶户話话雲云盤盘鍵键"
    "碼码腦脑鋪铺舖铺貨货櫃柜檯台臺台勞劳遞递郵邮賓宾館馆塊块積积極极擊击條条項项順顺須须"
    "領领頭头顧顾風风飛飞飯饭馬马騎骑驅驱鬆松齊齐齒齿龍龙巖岩車车鏟铲滌涤窯窑磚砖瓷瓷廢废"
    "舊旧殺杀屠屠宰宰烹烹飪饪糕糕麥麦麫面湯汤鍊炼煉炼鑄铸鈑钣金金鋸锯鏈链軸轴輪轮檢检識识"
)
_SIMPLIFY = str.maketrans(dict(zip(_TRADITIONAL[0::2], _TRADITIONAL[1::2], strict=True)))
# Spaces, middle dots and dashes people put inside names: 叉车 司机, 电·焊, C-1.
_SEPARATORS = re.compile(r"[\s·•・\-_/]+")


def basic_form(name: str) -> str:
    """NFKC (full-width Ａ１ → A1, half-width katakana and compatibility forms folded), lower
    case, separators dropped, traditional characters simplified."""
    text = unicodedata.normalize("NFKC", name).lower()
    return _SEPARATORS.sub("", text).translate(_SIMPLIFY)


def canonical(name: str, synonyms: Mapping[str, str]) -> str:
    """The name a match compares: the basic form, mapped through the policy's synonyms."""
    form = basic_form(name)
    return synonyms.get(form, form)


def canonical_set(names: Iterable[str], synonyms: Mapping[str, str]) -> frozenset[str]:
    return frozenset(c for c in (canonical(name, synonyms) for name in names) if c)
