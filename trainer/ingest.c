/* ingest.c: (being written) */
