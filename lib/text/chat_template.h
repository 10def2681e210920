/* Apollo's conversation template: the ChatML object `conv_qwen` that the
 * reference selects with version "qwen_2" (apollo-model.md 5.3):
 *
 *   <|im_start|>system\n\n{system}<|im_end|>\n
 *   <|im_start|>user\n{user}<|im_end|>\n
 *   <|im_start|>assistant\n{answer}<|im_end|>\n ...
 *
 * A conversation is built incrementally: each function appends the text
 * that follows what is already in the KV cache.  Every piece starts at a
 * special token, so tokenizing the pieces separately gives the same ids as
 * tokenizing the whole prompt at once. */
#ifndef APOLLO_CHAT_TEMPLATE_H
#define APOLLO_CHAT_TEMPLATE_H

#include "common/strbuf.h"

#define APOLLO__DEFAULT_SYSTEM_PROMPT "You are a helpful vision-language assistant."
#define APOLLO__IM_END "<|im_end|>"

/* "<|im_start|>system\n\n" + system + "<|im_end|>\n" */
void apollo__chat_system(apollo__strbuf *sb, const char *system_prompt);

/* Closes an open assistant message: "<|im_end|>\n". */
void apollo__chat_close_assistant(apollo__strbuf *sb);

/* "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n" */
void apollo__chat_user_turn(apollo__strbuf *sb, const char *user);

#endif
