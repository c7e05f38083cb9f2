using Gateway.Aspire.Guardrails.CustomRules;
using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Rules;

/// <summary>What a check looks for (<c>check:</c> in a rule).</summary>
internal enum CheckKind
{
    /// <summary><c>pii</c>: personal data, see <see cref="PiiScanner"/>.</summary>
    Pii,

    /// <summary><c>moderation</c>: the built-in classifier's categories.</summary>
    Moderation,

    /// <summary><c>prompt_injection</c>: instruction override, jailbreaks, prompt exfiltration, encoded payloads, delimiters.</summary>
    PromptInjection,

    /// <summary><c>deny_list</c>: regex and keyword patterns or a built-in topic policy.</summary>
    DenyList,
}

/// <summary>What happens when a check finds something (<c>action:</c>).</summary>
internal enum GuardrailAction
{
    /// <summary><c>mask</c>: replace the finding with a placeholder and continue (pii only).</summary>
    Mask,

    /// <summary><c>block</c>: refuse the request or end the answer, naming the guardrail and category.</summary>
    Block,

    /// <summary><c>flag</c>: let it through and report a finding.</summary>
    Flag,
}

/// <summary>What a rule does when one of its checks cannot run (<c>on_error:</c>).</summary>
internal enum OnErrorMode
{
    /// <summary><c>fail_closed</c>: refuse (the caller sees 503), because a skipped guardrail is a silent hole.</summary>
    FailClosed,

    /// <summary><c>fail_open</c>: skip the failed check and report it as a finding.</summary>
    FailOpen,
}

/// <summary>Configuration names of the enums, one place for the loader, findings and docs.</summary>
internal static class GuardrailNames
{
    /// <summary>The <c>check:</c> value of <paramref name="kind"/>.</summary>
    public static string Of(CheckKind kind) => kind switch
    {
        CheckKind.Pii => "pii",
        CheckKind.Moderation => "moderation",
        CheckKind.PromptInjection => "prompt_injection",
        _ => "deny_list",
    };

    /// <summary>The <c>action:</c> value of <paramref name="action"/>.</summary>
    public static string Of(GuardrailAction action) => action switch
    {
        GuardrailAction.Mask => "mask",
        GuardrailAction.Block => "block",
        _ => "flag",
    };
}

/// <summary>One entry of a rule's <c>input</c> or <c>output</c> list, validated and compiled.</summary>
internal sealed record GuardrailCheck
{
    /// <summary><c>check</c>. Required.</summary>
    public required CheckKind Kind { get; init; }

    /// <summary><c>action</c>. Required; <c>mask</c> only for pii.</summary>
    public required GuardrailAction Action { get; init; }

    /// <summary>pii <c>types</c>. Default: null (every type the scanner knows).</summary>
    public IReadOnlyList<PiiType>? PiiTypes { get; init; }

    /// <summary>pii <c>restore: true</c> on output: put the request's own masked values back into the answer. Default false.</summary>
    public bool Restore { get; init; }

    /// <summary>moderation <c>categories</c>. Default: null (all 13 categories).</summary>
    public IReadOnlyList<ModerationCategory>? Categories { get; init; }

    /// <summary>
    /// <c>threshold</c> as one number: moderation flags a category whose score reaches it (default: the
    /// classifier's per-category thresholds); prompt_injection blocks or flags at this score (default
    /// <see cref="PromptInjection.PromptInjectionDetector.DefaultThreshold"/>).
    /// </summary>
    public double? Threshold { get; init; }

    /// <summary>moderation <c>threshold</c> written as a mapping of category to number; wins over <see cref="Threshold"/>. Default empty.</summary>
    public IReadOnlyDictionary<ModerationCategory, double> CategoryThresholds { get; init; } = new Dictionary<ModerationCategory, double>();

    /// <summary>
    /// moderation <c>model</c>: a catalog model (<c>&lt;account&gt;/&lt;model&gt;</c> serving /v1/moderations) the
    /// router asks instead of the built-in classifier, which stays the fallback. Default: null (built-in only).
    /// </summary>
    public string? ModerationModel { get; init; }

    /// <summary>moderation <c>timeout_ms</c>: how long the router waits for <see cref="ModerationModel"/>. Default: 2 seconds.</summary>
    public TimeSpan ModerationTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>deny_list patterns, keywords, built-in topic patterns and allow-list, compiled. Null for other checks.</summary>
    public DenyList? DenyList { get; init; }

    /// <summary>
    /// The name findings and block replies use: deny_list's <c>name</c> (default <c>deny_list</c>), else the check name.
    /// </summary>
    public required string Name { get; init; }

    /// <summary>Where the check came from, for messages.</summary>
    public string Source { get; init; } = "";
}
