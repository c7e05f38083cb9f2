using System.Text.RegularExpressions;

namespace Gateway.Aspire.Guardrails.PromptInjection;

/// <summary>
/// Chat-template tokens and fake role markers in text that should only ever be content: a user who
/// writes <c>&lt;|im_start|&gt;system</c> or <c>[INST]</c> is trying to open a turn of their own. Works
/// on the raw text, because the tokenizer drops exactly the punctuation these markers are made of.
/// </summary>
internal static partial class DelimiterMarkers
{
    /// <summary>Special tokens of the common chat templates (ChatML, Llama 2/3, Gemma, Phi, GPT end-of-text).</summary>
    private static readonly string[] s_templateTokens =
    [
        "<|im_start|>", "<|im_end|>", "<|im_sep|>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>",
        "<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>",
        "<start_of_turn>", "<end_of_turn>",
    ];

    /// <summary>Weight of a template token.</summary>
    public const double TemplateTokenWeight = 0.85;

    /// <summary>Every marker found, as a weight 0..1 each.</summary>
    public static IEnumerable<double> Find(string text)
    {
        foreach (var token in s_templateTokens)
        {
            if (text.Contains(token, StringComparison.OrdinalIgnoreCase))
            {
                yield return TemplateTokenWeight;
                break;
            }
        }

        if (LegacyTurn().IsMatch(text))
        {
            yield return 0.7;
        }

        if (RoleJson().IsMatch(text))
        {
            yield return 0.75;
        }

        if (BracketRole().IsMatch(text))
        {
            yield return 0.7;
        }

        if (RoleTag().IsMatch(text))
        {
            yield return 0.7;
        }

        if (EndOfInput().IsMatch(text))
        {
            yield return 0.55;
        }

        if (RoleHeader().IsMatch(text))
        {
            yield return 0.4;
        }
    }

    /// <summary>Anthropic's legacy turn markers, which only mean something at a line start after a blank line.</summary>
    [GeneratedRegex(@"\n\n(?:Human|Assistant):", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)]
    private static partial Regex LegacyTurn();

    /// <summary>A message object with a privileged role pasted into content.</summary>
    [GeneratedRegex("\"role\"\\s*:\\s*\"(?:system|developer)\"", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex RoleJson();

    /// <summary>[system], [admin note], (developer message), {system override}; a bare [admin] or (system) is too common in docs.</summary>
    [GeneratedRegex(@"\[\s*system\s*\]|[\[({]\s*(?:system|admin|administrator|developer|sudo|root)\s+(?:message|note|override|prompt|instruction|instructions|command|notice|update)\s*[\])}]",
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex BracketRole();

    /// <summary>XML-ish tags that pretend to close the user's part or open a system part.</summary>
    [GeneratedRegex(@"</?\s*(?:system|system_prompt|instructions|admin|developer|user_input|user_query|end_user|untrusted_input)\s*>",
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex RoleTag();

    /// <summary>"END OF USER INPUT", "end of document" and the like, written to fake a boundary.</summary>
    [GeneratedRegex(@"\bEND\s+OF\s+(?:THE\s+)?(?:USER\s+)?(?:INPUT|PROMPT|INSTRUCTIONS|CONTEXT|DOCUMENT|CONVERSATION|MESSAGE|TEXT|DATA)\b",
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex EndOfInput();

    /// <summary>A line or a markdown heading that starts a fake privileged turn: "### System:", "SYSTEM PROMPT:".</summary>
    [GeneratedRegex(@"(?:(?:^|\n)[ \t]*(?:#{1,6}[ \t]*)?|#{2,}[ \t]*)(?:system|developer)(?:[ \t]+(?:prompt|message|instructions?|override|update))?[ \t]*:",
        RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex RoleHeader();
}
