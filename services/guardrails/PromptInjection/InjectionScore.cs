namespace Gateway.Aspire.Guardrails.PromptInjection;

/// <summary>The kind of attack a cue points at; the <c>category</c> of a prompt-injection finding.</summary>
internal enum InjectionFamily
{
    /// <summary>"Ignore all previous instructions": replacing the application's instructions.</summary>
    InstructionOverride,

    /// <summary>Role-play jailbreaks: DAN, "developer mode", "an AI without restrictions".</summary>
    Jailbreak,

    /// <summary>Getting the model to reveal its system prompt or hidden instructions.</summary>
    PromptExfiltration,

    /// <summary>Base64 or hex blocks that decode to any of the other families.</summary>
    EncodedPayload,

    /// <summary>Chat-template tokens and fake role markers that try to start a new turn.</summary>
    DelimiterInjection,
}

/// <summary>A prompt-injection score 0..1 and the family of its strongest cue.</summary>
/// <param name="Score">Combined evidence, 1 − Π(1 − weight) over the cues found.</param>
/// <param name="Family">The family of the strongest cue (meaningless when <paramref name="Score"/> is 0).</param>
internal readonly record struct InjectionScore(double Score, InjectionFamily Family)
{
    /// <summary>Nothing found.</summary>
    public static readonly InjectionScore None = new(0, InjectionFamily.InstructionOverride);

    /// <summary>The family's wire name, e.g. <c>instruction_override</c>.</summary>
    public string Category => Name(Family);

    /// <summary>The wire name of <paramref name="family"/>.</summary>
    public static string Name(InjectionFamily family) => family switch
    {
        InjectionFamily.InstructionOverride => "instruction_override",
        InjectionFamily.Jailbreak => "jailbreak",
        InjectionFamily.PromptExfiltration => "prompt_exfiltration",
        InjectionFamily.EncodedPayload => "encoded_payload",
        _ => "delimiter_injection",
    };
}
