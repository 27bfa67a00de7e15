/* backend.c: (being written) */
