/* synth.c: (being written) */
