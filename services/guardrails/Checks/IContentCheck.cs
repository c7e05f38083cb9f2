using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>Something a check found: its category and, for span-based checks, where (whole-text checks report the whole text).</summary>
/// <param name="Category">pii type, moderation category, injection family or deny-list name.</param>
/// <param name="Start">Start index in the text.</param>
/// <param name="Length">Length of the finding.</param>
internal readonly record struct CheckHit(string Category, int Start, int Length)
{
    /// <summary>Index just past the finding.</summary>
    public int End => Start + Length;
}

/// <summary>One kind of check (<c>check:</c>), configured per rule by a <see cref="GuardrailCheck"/>.</summary>
internal interface IContentCheck
{
    /// <summary>The <c>check:</c> it implements.</summary>
    CheckKind Kind { get; }

    /// <summary>What <paramref name="check"/> finds in <paramref name="text"/>, strongest first.</summary>
    IReadOnlyList<CheckHit> Find(GuardrailCheck check, string text, CancellationToken cancellationToken);
}
