// A C library with locks of its own, as a real one has: its mutexes are pthread mutexes the validator
// sees through the interposer, with no change to this code.
#ifndef CLEDGER_H
#define CLEDGER_H

/// Posts to the two statically initialised journals, both first locked through one helper, in one order.
void cledger_post_twice(void);
/// Opens two mutexes (at two lines of ledger_open) and takes them in an order and in its reverse.
void cledger_open_and_reconcile(void);
/// Takes two rwlocks for writing in an order and in its reverse.
void cledger_reindex(void);
/// Unlocks a static mutex nothing locked; returns what pthread_mutex_unlock did.
int cledger_close_period(void);

#endif
