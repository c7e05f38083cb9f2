using BenchmarkDotNet.Attributes;
using Gateway.Aspire.Guardrails.CustomRules;
using Gateway.Aspire.Guardrails.Moderation;
using Gateway.Aspire.Guardrails.PromptInjection;

namespace Gateway.Aspire.Guardrails.Benchmarks;

/// <summary>
/// The other checks over the 1 KB support prompt: the prompt-injection heuristics, a deny list as a
/// rule would configure it (the built-in <c>no_financial_advice</c> topic policy plus a pattern and
/// keywords) and the built-in moderation classifier. Shared by BenchmarkDotNet and the latency mode.
/// </summary>
[MemoryDiagnoser]
public class ContentCheckBenchmarks
{
    private readonly string _text = Prompts.OfSize(1_024);

    /// <summary>The prompt-injection detector.</summary>
    internal static readonly PromptInjectionDetector Injection = new();

    /// <summary>The moderation classifier with its default thresholds.</summary>
    internal static readonly ModerationClassifier Moderation = new();

    /// <summary>A deny list as in the docs' example rule.</summary>
    internal static readonly DenyList Deny = new(
        [.. TopicPolicies.Compiled("no_financial_advice"), DenyList.CompilePattern("(?i)\\bbuy\\b.*\\bstock"), DenyList.CompileKeywords(["Project Falcon", "Bluebird"])],
        [DenyList.CompilePattern("(?i)falcon heavy")]);

    [Benchmark]
    public double PromptInjection() => Injection.Score(_text).Score;

    [Benchmark]
    public int DenyListFind() => Deny.Find(_text).Count;

    [Benchmark]
    public bool ModerationClassify() => Moderation.Classify(_text).Flagged;
}
