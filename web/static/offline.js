/* Stockline offline screens: cached snapshot, offline sign-in, scan flows that queue envelopes. */
