/* dataset.c: (being written) */
