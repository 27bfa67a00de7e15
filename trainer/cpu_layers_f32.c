/* cpu_layers_f32.c: (being written) */
