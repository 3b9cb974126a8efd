"""`curate translate`: Bactrian-X-style multilingual data (translate, or translate + generate)."""
