/* model.c: (being written) */
