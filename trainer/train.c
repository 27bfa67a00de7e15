/* train.c: (being written) */
