"""Payment history (缴费记录): the second table beside the book, its row account, and persistency on premiums received."""
