using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Gateway.Aspire.ServiceDefaults.Configuration;

/// <summary>
/// Masks the values of manifests that may be secrets before the admin API shows them (the effective
/// configuration, the history's documents, the diffs): an answer that operators paste into tickets
/// and chats must not carry credentials. Masked, wherever they appear in any document:
/// <list type="bullet">
/// <item><c>api_key</c> and every value of a <c>headers</c> mapping (provider accounts) or of
/// <c>headers_override.set</c> (load-balancing targets) becomes <c>'***'</c>;</item>
/// <item><c>url</c> (notification targets) keeps its scheme and host: <c>'https://hooks.slack.com/***'</c>
/// (a webhook's path or query is its credential: Slack, Teams and most generic receivers);</item>
/// <item><c>base_url</c> keeps its path but loses user information and query (<c>'https://***@host/v1?***'</c>):
/// a provider's path is an API prefix, while credentials there sit in those two places.</item>
/// </list>
/// A value that is only an environment-variable reference (<c>${OPENAI_API_KEY}</c>) stays: it names
/// where the secret is, which is what an operator needs to see, and is no secret itself.
/// </summary>
/// <remarks>
/// Works on the text, replacing each masked scalar in place, so comments, order and formatting
/// survive and every other line reads as written (diffs line up). Comments themselves are shown as
/// written: a secret in a comment is not recognisable. The services keep and publish the unmasked
/// documents; only what the admin API returns is masked.
/// </remarks>
public static partial class ManifestRedaction
{
    /// <summary>What a masked value reads as.</summary>
    public const string Mask = "***";

    /// <summary>
    /// <paramref name="yaml"/> (one or more manifest documents) with its secret values masked. Text
    /// that cannot be read as manifests is not shown at all: it cannot be told what to mask in it.
    /// </summary>
    public static string Redact(string yaml) => Apply(yaml).Text;

    /// <summary>
    /// <see cref="Redact"/>, plus the values it masked in order: two versions whose masked texts read
    /// the same can still differ in a secret (a diff says so without showing it).
    /// </summary>
    public static Redacted Apply(string yaml)
    {
        IReadOnlyList<ManifestDocument> documents;
        try
        {
            documents = ManifestDocuments.Parse(yaml, "text");
        }
        catch (ManifestException)
        {
            return new Redacted("# (not shown: this text could not be read as manifests to mask its secret values)\n", [yaml]);
        }

        var spans = new SortedDictionary<long, (long End, string Replacement)>();
        foreach (var document in documents)
        {
            Visit(document.Root, parentKey: null, yaml, spans);
        }

        if (spans.Count == 0)
        {
            return new Redacted(yaml, []);
        }

        var text = new StringBuilder(yaml.Length);
        var masked = new List<string>(spans.Count);
        var at = 0;
        foreach (var (start, (end, replacement)) in spans)
        {
            text.Append(yaml, at, (int)start - at).Append(replacement);
            masked.Add(yaml[(int)start..(int)end]);
            at = (int)end;
        }

        return new Redacted(text.Append(yaml, at, yaml.Length - at).ToString(), masked);
    }

    /// <summary>A text with its secret values masked.</summary>
    /// <param name="Text">What may be shown.</param>
    /// <param name="MaskedValues">The original text of each masked value, in order: compare, never show.</param>
    public sealed record Redacted(string Text, IReadOnlyList<string> MaskedValues);

    /// <summary>Whether <paramref name="value"/> is only an environment-variable reference, as the loaders accept it.</summary>
    public static bool IsEnvironmentReference(string value) => EnvReference().IsMatch(value);

    [GeneratedRegex(@"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")]
    private static partial Regex EnvReference();

    private static void Visit(YamlNode node, string? parentKey, string yaml, SortedDictionary<long, (long End, string Replacement)> spans)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (keyNode, value) in map.Children)
                {
                    var key = (keyNode as YamlScalarNode)?.Value;
                    switch (key)
                    {
                        case "api_key":
                            MaskScalar(value, yaml, spans, _ => Mask);
                            break;
                        case "headers":
                        case "set" when parentKey == "headers_override":
                            // A scalar where a mapping belongs (refused by the loaders) is masked whole all the same.
                            foreach (var header in value is YamlMappingNode headers ? headers.Children.Values : [value])
                            {
                                MaskScalar(header, yaml, spans, _ => Mask);
                            }

                            break;
                        case "url":
                            MaskScalar(value, yaml, spans, WebhookUrl);
                            break;
                        case "base_url":
                            MaskScalar(value, yaml, spans, BaseUrl);
                            break;
                        default:
                            Visit(value, key, yaml, spans);
                            break;
                    }
                }

                break;
            case YamlSequenceNode list:
                foreach (var item in list.Children)
                {
                    Visit(item, parentKey, yaml, spans);
                }

                break;
        }
    }

    /// <summary>Replaces the scalar <paramref name="node"/> by <paramref name="mask"/> of its value, single-quoted; references stay.</summary>
    private static void MaskScalar(YamlNode node, string yaml, SortedDictionary<long, (long End, string Replacement)> spans, Func<string, string> mask)
    {
        if (node is not YamlScalarNode { Value: { } value } || IsEnvironmentReference(value))
        {
            return;
        }

        var replacement = mask(value);
        if (replacement == value)
        {
            return;
        }

        // A block scalar's span runs over the line break after it: keep those so the next line stays where it was.
        var end = node.End.Index;
        while (end > node.Start.Index && char.IsWhiteSpace(yaml[(int)end - 1]))
        {
            end--;
        }

        // Unquoted '***' would read as a YAML alias; single quotes only need doubled quotes inside.
        spans[node.Start.Index] = (end, "'" + replacement.Replace("'", "''", StringComparison.Ordinal) + "'");
    }

    private static string WebhookUrl(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !uri.IsAbsoluteUri)
        {
            return Mask;
        }

        return uri.UserInfo.Length == 0 && (uri.PathAndQuery is "/" or "") && uri.Fragment.Length == 0
            ? value
            : $"{uri.Scheme}://{uri.Authority}/{Mask}";
    }

    private static string BaseUrl(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !uri.IsAbsoluteUri)
        {
            return Mask;
        }

        if (uri.UserInfo.Length == 0 && uri.Query.Length == 0 && uri.Fragment.Length == 0)
        {
            return value;
        }

        var userInfo = uri.UserInfo.Length == 0 ? "" : Mask + "@";
        var query = uri.Query.Length == 0 ? "" : "?" + Mask;
        return $"{uri.Scheme}://{userInfo}{uri.Authority}{uri.AbsolutePath}{query}";
    }
}
