using Gateway.Aspire.ServiceDefaults.Configuration;
using YamlDotNet.RepresentationModel;
using static Gateway.Aspire.ServiceDefaults.Configuration.ManifestYaml;

namespace Gateway.Aspire.Policy.Rules;

/// <summary>The documents of one rule type (rate limits, budgets) and their ordered rules, read alike.</summary>
public static class RuleDocuments
{
    /// <summary>Every document of <paramref name="type"/>: its mapping and the prefix of its errors (file, document, name).</summary>
    public static IEnumerable<(YamlMappingNode Root, string Where)> OfType(IEnumerable<ManifestDocument> documents, string type)
    {
        foreach (var document in documents)
        {
            if (document.Type == type)
            {
                var name = Scalar(document.Root, "name", document.Where);
                yield return (document.Root, name is null ? document.Where : $"{document.Where} ({type} '{name}')");
            }
        }
    }

    /// <summary>
    /// Appends the rules of <paramref name="list"/> to <paramref name="rules"/> in order, each read by
    /// <paramref name="read"/> (given the rule and the prefix of its errors); ids must be unique across documents.
    /// </summary>
    public static void AddRules<T>(YamlSequenceNode list, string where, List<T> rules, Func<YamlNode, string, T> read, Func<T, string> id, Func<T, string> source)
    {
        foreach (var node in list.Children)
        {
            var rule = read(node, $"{where}, rules[{list.Children.IndexOf(node)}]");
            RuleIds.EnsureUnique(rules, id(rule), source(rule), id, source);
            rules.Add(rule);
        }
    }
}
