/* events: what vaecf-train prints as it trains (docs/trainer.md): one JSON object a
 * line (start, epoch, done, stopped, error), or the same as a line of text for people. */
#ifndef VS_EVENTS_H
#define VS_EVENTS_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "metrics.h"

/* Prints event on f (exact JSON, or text when text is set), flushes, and deletes it. */
void vs_event_emit(FILE *f, int text, cJSON *event);

/* {"ndcg@100", "recall@20", "recall@50", "users"} of m. */
cJSON *vs_metrics_json(const vs_metrics *m);

#endif
