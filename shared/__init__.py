"""The small library every service uses: messaging, storage, identity, auth, config."""
