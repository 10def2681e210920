/* Reading the checkpoint's JSON configs into apollo__model (no weights). */
#ifndef APOLLO_MODEL_CONFIG_H
#define APOLLO_MODEL_CONFIG_H

#include "model.h"

/* Builds "<dir>/<rel>" into buf; APOLLO_E_INVALID_ARG when too long. */
int apollo__model_path(char *buf, size_t cap, const char *dir, const char *rel);

int apollo__config_read_top(apollo__model *m);        /* config.json */
int apollo__config_read_llm(apollo__model *m);        /* llm/config.json, generation_config.json */
int apollo__config_read_towers(apollo__model *m);     /* vision_tower/ configs */
int apollo__config_read_connector(apollo__model *m);  /* mm_connector/config.json */
/* Cross-checks between parts (widths, grids, select layer). */
int apollo__config_check(apollo__model *m);

#endif
