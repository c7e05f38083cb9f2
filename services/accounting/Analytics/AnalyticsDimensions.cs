using Gateway.Aspire.Accounting.Ledger;

namespace Gateway.Aspire.Accounting.Analytics;

/// <summary>What analytics can group by, and the ledger column behind each.</summary>
internal static class AnalyticsDimensions
{
    /// <summary>Prefix of a metadata key dimension (<c>metadata.project</c>).</summary>
    public const string MetadataPrefix = "metadata.";

    /// <summary>Longest metadata key accepted.</summary>
    public const int MaxMetadataKeyLength = 256;

    // Dimension → ledger column. Every one of these (and every metadata key) is kept in accounting.usage_totals.
    private static readonly Dictionary<string, string> s_columns = new(StringComparer.Ordinal)
    {
        ["model"] = "requested_model",
        ["target"] = "served_model",
        ["provider"] = "provider",
        ["user"] = "user_id",
        ["team"] = "team",
        ["virtual_account"] = "virtual_account",
    };

    /// <summary>The names accepted by usage queries, for messages.</summary>
    public const string UsageNames = "model, target, provider, user, team, virtual_account or metadata.<key>";

    /// <summary>Latency can be grouped by these.</summary>
    public static readonly IReadOnlySet<string> LatencyNames = new HashSet<string>(StringComparer.Ordinal) { "model", "target", "provider" };

    /// <summary>
    /// Resolves <paramref name="groupBy"/>: a fixed dimension, a metadata key, or empty (everything
    /// in one group); each is a dimension of the totals.
    /// </summary>
    public static bool TryResolve(string groupBy, out GroupBy resolved)
    {
        if (groupBy.Length == 0)
        {
            resolved = new GroupBy(groupBy, UsageTotals.Route, "NULL::text", "NULL::text", null);
            return true;
        }

        if (s_columns.TryGetValue(groupBy, out var column))
        {
            resolved = groupBy switch
            {
                // The route total is [model, target, provider].
                "model" => new GroupBy(groupBy, UsageTotals.Route, "(value::jsonb) ->> 0", column, null),
                "target" => new GroupBy(groupBy, UsageTotals.Route, "(value::jsonb) ->> 1", column, null),
                "provider" => new GroupBy(groupBy, UsageTotals.Route, "(value::jsonb) ->> 2", column, null),
                // '' stands for null in the owned dimensions.
                _ => new GroupBy(groupBy, groupBy, "nullif(value, '')", column, null),
            };
            return true;
        }

        if (groupBy.StartsWith(MetadataPrefix, StringComparison.Ordinal)
            && groupBy.Length - MetadataPrefix.Length is > 0 and <= MaxMetadataKeyLength)
        {
            resolved = new GroupBy(groupBy, groupBy, "value", "metadata ->> @metadata_key", groupBy[MetadataPrefix.Length..]);
            return true;
        }

        resolved = default;
        return false;
    }
}

/// <summary>A resolved grouping.</summary>
/// <param name="Name">The <c>group_by</c> it was resolved from.</param>
/// <param name="RollupDimension">The dimension in <c>accounting.usage_totals</c> that answers it.</param>
/// <param name="TotalsExpression">SQL over a total's <c>value</c> giving the group.</param>
/// <param name="Expression">SQL over a ledger row giving the group (a whitelisted column, never input).</param>
/// <param name="MetadataKey">The metadata key, bound as <c>@metadata_key</c>.</param>
internal readonly record struct GroupBy(string Name, string RollupDimension, string TotalsExpression, string Expression, string? MetadataKey);
