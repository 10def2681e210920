#include "chat_template.h"

void apollo__chat_system(apollo__strbuf *sb, const char *system_prompt)
{
    apollo__sb_puts(sb, "<|im_start|>system\n\n");
    apollo__sb_puts(sb, system_prompt ? system_prompt : APOLLO__DEFAULT_SYSTEM_PROMPT);
    apollo__sb_puts(sb, "<|im_end|>\n");
}

void apollo__chat_close_assistant(apollo__strbuf *sb)
{
    apollo__sb_puts(sb, "<|im_end|>\n");
}

void apollo__chat_user_turn(apollo__strbuf *sb, const char *user)
{
    apollo__sb_puts(sb, "<|im_start|>user\n");
    apollo__sb_puts(sb, user);
    apollo__sb_puts(sb, "<|im_end|>\n<|im_start|>assistant\n");
}
