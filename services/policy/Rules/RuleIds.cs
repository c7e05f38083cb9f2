using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Policy.Rules;

/// <summary>Rule ids of rate-limit and budget rules: literal, unique, part of the counters' keys.</summary>
public static class RuleIds
{
    /// <summary>
    /// Reads the required <c>id</c>: non-empty, no whitespace, no TrueFoundry <c>{user}</c>-style
    /// placeholders (<paramref name="appliesPerField"/> does that job).
    /// </summary>
    public static string Read(YamlMappingNode rule, string where, string appliesPerField)
    {
        var id = Scalar(rule, "id", where) ?? throw Missing(rule, where, "id");
        if (id.Length == 0 || id.Contains('{') || id.Any(char.IsWhiteSpace))
        {
            throw new ManifestException(
                $"{where}: 'id' must be non-empty without spaces or '{{...}}' placeholders (got '{id}'); use {appliesPerField} for per-user or per-model counters.");
        }

        return id;
    }

    /// <summary>Fails when <paramref name="id"/> is already taken by a rule of <paramref name="earlier"/>.</summary>
    public static void EnsureUnique<T>(IEnumerable<T> earlier, string id, string source, Func<T, string> idOf, Func<T, string> sourceOf)
    {
        if (earlier.FirstOrDefault(r => idOf(r) == id) is { } taken)
        {
            throw new ManifestException($"{source}: rule id '{id}' is already used by {sourceOf(taken)}; ids must be unique.");
        }
    }
}
