using Gateway.Aspire.Guardrails.Rules;

namespace Gateway.Aspire.Guardrails.Checks;

/// <summary>The <c>deny_list</c> check: the compiled list's matches outside allowed spans; the category is the list's name.</summary>
internal sealed class DenyListCheck : IContentCheck
{
    /// <inheritdoc />
    public CheckKind Kind => CheckKind.DenyList;

    /// <inheritdoc />
    public IReadOnlyList<CheckHit> Find(GuardrailCheck check, string text, CancellationToken cancellationToken) =>
        check.DenyList is { } list ? [.. list.Find(text).Select(match => new CheckHit(check.Name, match.Start, match.Length))] : [];
}
