/* json_exact: JSON text whose numbers read back as the very same doubles. cJSON's
 * printer compares its 15-digit text only approximately and can drop a number's last
 * bit; configs, states and events must not. Output is compact; strings are escaped as
 * Python's json.dumps does (ensure_ascii), which is valid JSON for every reader. */
#ifndef VS_JSON_EXACT_H
#define VS_JSON_EXACT_H

#include <cjson/cJSON.h>

/* The shortest text that reads back as v: integers up to 2^53 without a point;
 * "null" for a non-finite v (JSON has no infinities). */
void vs_json_number(double v, char out[40]);
/* s as a quoted JSON string (caller frees). */
char *vs_json_quote(const char *s);
/* item as compact JSON with exact numbers (caller frees). */
char *vs_json_print_exact(const cJSON *item);

#endif
