/* Empty on purpose: rd_clock() and rd_ts_t come from Spate's rd.h shim. */
