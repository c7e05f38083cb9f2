using System.Security.Cryptography;
using System.Text;
using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Policy.Rules;

/// <summary>
/// <c>rate_limit_applies_per</c> / <c>budget_applies_per</c>: up to two of <c>user</c>, <c>team</c>,
/// <c>model</c>, <c>virtualaccount</c>, <c>metadata.&lt;key&gt;</c>; a separate counter per combination of values.
/// </summary>
public static class RuleScope
{
    /// <summary>At most this many entries (the issue's contract).</summary>
    public const int MaxEntries = 2;

    private static readonly string[] s_entries = ["user", "team", "model", "virtualaccount"];

    /// <summary>Reads and validates the optional list <paramref name="field"/> of <paramref name="rule"/>.</summary>
    public static IReadOnlyList<string> Read(YamlMappingNode rule, string field, string where)
    {
        var entries = ScalarList(rule, field, where) ?? [];
        if (entries.Count > MaxEntries)
        {
            throw new ManifestException($"{where}: '{field}' takes at most {MaxEntries} entries (got {entries.Count}).");
        }

        foreach (var entry in entries)
        {
            var valid = s_entries.Contains(entry) || (entry.StartsWith("metadata.", StringComparison.Ordinal) && entry.Length > "metadata.".Length);
            if (!valid)
            {
                throw new ManifestException($"{where}: unknown {field} entry '{entry}'. Known: {string.Join(", ", s_entries)}, metadata.<key>.");
            }
        }

        if (entries.Distinct(StringComparer.Ordinal).Count() != entries.Count)
        {
            throw new ManifestException($"{where}: '{field}' names an entry twice.");
        }

        return entries;
    }

    /// <summary>
    /// The counter-key suffix for the call's values of <paramref name="entries"/>: empty when there are
    /// none, else <c>:</c> and a hash. Caller-controlled values (metadata) are hashed so keys stay short
    /// and free of separators. <paramref name="ruleSubjects"/> (the rule's <c>when.subjects</c>) picks the
    /// team of a member of several (<see cref="CounterTeam"/>).
    /// </summary>
    public static string KeySuffix(IReadOnlyList<string> entries, IReadOnlyList<string> ruleSubjects, AdmissionCall call)
    {
        if (entries.Count == 0)
        {
            return "";
        }

        var values = new StringBuilder();
        foreach (var entry in entries)
        {
            values.Append(entry).Append('=').Append(Value(entry, ruleSubjects, call)).Append('\u001f');
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(values.ToString()));
        return ":" + Convert.ToHexStringLower(hash, 0, 16);
    }

    /// <summary>
    /// The values the call is counted under, readable (<c>team=research, metadata.project=x</c>), for
    /// alerts; empty when <paramref name="entries"/> is.
    /// </summary>
    public static string Label(IReadOnlyList<string> entries, IReadOnlyList<string> ruleSubjects, AdmissionCall call) =>
        entries.Count == 0 ? "" : string.Join(", ", entries.Select(entry => $"{entry}={Value(entry, ruleSubjects, call)}"));

    // Callers without a user (virtual accounts) or team (older tokens) share the empty value.
    private static string Value(string entry, IReadOnlyList<string> ruleSubjects, AdmissionCall call) => entry switch
    {
        "model" => call.Model,
        "virtualaccount" => call.VirtualAccount,
        "user" => call.User,
        "team" => CounterTeam(ruleSubjects, call.Teams),
        _ => call.Metadata.TryGetValue(entry["metadata.".Length..], out var v) ? v : "",
    };

    /// <summary>
    /// The team whose counter a call by a member of several teams counts against: the first of its
    /// teams the rule names in <c>when.subjects</c>, else the first by name (teams are sorted).
    /// </summary>
    public static string CounterTeam(IReadOnlyList<string> ruleSubjects, IReadOnlyList<string> teams)
    {
        foreach (var team in teams)
        {
            if (ruleSubjects.Contains("team:" + team, StringComparer.Ordinal))
            {
                return team;
            }
        }

        return teams.Count > 0 ? teams[0] : "";
    }
}
