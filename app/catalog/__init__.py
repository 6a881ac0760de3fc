"""The catalog: concurrent aggregation of every vendor's products into one snapshot, refresh
jobs, offer routing (`best_offer`) and search. Arrives with the catalog issue."""
