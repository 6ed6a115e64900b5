package audit

// BookFromGenesis is BookAtSeq replaying from the shard's first record,
// ignoring snapshots: the tests compare the two paths.
func BookFromGenesis(j *Journal, symbol string, seq uint64) (*Book, error) {
	loc, err := j.lookupSymbol(symbol)
	if err != nil {
		return nil, err
	}
	return j.book(loc, seq, false)
}
