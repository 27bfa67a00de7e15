/* protocol.c: (being written) */
