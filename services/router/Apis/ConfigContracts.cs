namespace Gateway.Aspire.Router.Apis;

/// <summary>
/// Answer of <c>POST /admin/v1/apply</c> and <c>DELETE /admin/v1/config/{type}/{name}</c>:
/// the version in force afterwards (unchanged on a dry run or when nothing changed), whether the
/// configuration changes, each document's change and the human-readable diff.
/// </summary>
public sealed record ConfigChangeResponse(long Version, bool DryRun, bool Changed, IReadOnlyList<ConfigDocumentResponse> Documents, string Diff);

/// <summary>One document's change: <c>added</c>, <c>changed</c>, <c>unchanged</c> or <c>removed</c>.</summary>
public sealed record ConfigDocumentResponse(string Type, string Name, string Change);

/// <summary>A page of <c>GET /admin/v1/config/history</c>, newest first; <c>next_before</c> is the <c>before</c> of the next page, or null.</summary>
public sealed record ConfigHistoryResponse(IReadOnlyList<ConfigVersionResponse> Data, long? NextBefore);

/// <summary>One version: who applied what, when, and the diff it made.</summary>
public sealed record ConfigVersionResponse(long Version, DateTimeOffset AppliedAt, string AppliedBy, string Action, string Documents, string Diff);
