/* cpu_layers_f64.c: (being written) */
