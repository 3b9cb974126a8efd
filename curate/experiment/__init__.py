"""`curate experiment`: same base model, same budget, different data; the answer in one table."""
