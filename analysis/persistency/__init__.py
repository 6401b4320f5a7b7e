"""Persistency ratios (继续率), the overview's figures and the chain-ladder projection."""
