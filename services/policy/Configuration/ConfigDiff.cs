using System.Text;
using Gateway.Aspire.ServiceDefaults.Configuration;

namespace Gateway.Aspire.Policy.Configuration;

/// <summary>How one document changes.</summary>
/// <param name="Type">Its <c>type</c>.</param>
/// <param name="Name">Its <c>name</c>.</param>
/// <param name="Change"><c>added</c>, <c>changed</c>, <c>unchanged</c> or <c>removed</c>.</param>
internal sealed record DocumentChange(string Type, string Name, string Change);

/// <summary>
/// The difference between two effective configurations, per document (matched by type and name),
/// as a human-readable text: a header per document that differs, then its lines marked <c>-</c>/<c>+</c>
/// with two lines of context. Hand-written: a line LCS over documents of a few hundred lines is a few
/// dozen lines of code, and no diff library is on our package feed.
/// </summary>
/// <remarks>
/// The text shows the documents with their secret values masked (<see cref="ManifestRedaction"/>): it
/// is the answer of an apply and is kept in the history. Whether a document changed is decided on
/// the unmasked text, and a change in a masked value is stated without showing either value.
/// </remarks>
/// <param name="Documents">Every document that differs, plus the <c>touched</c> ones that do not.</param>
/// <param name="Text">The diff, or a sentence saying nothing changes.</param>
internal sealed record ConfigDiff(IReadOnlyList<DocumentChange> Documents, string Text)
{
    private const int Context = 2;

    // Past this many lines per side the LCS table (n*m) is not worth it: the document is shown replaced.
    private const int MaxLcsLines = 2_000;

    /// <summary>Whether anything differs.</summary>
    public bool Changed => Documents.Any(d => d.Change != "unchanged");

    /// <summary>
    /// Compares <paramref name="before"/> and <paramref name="after"/>; <paramref name="touched"/>
    /// (keys the request named) are listed even when unchanged.
    /// </summary>
    public static ConfigDiff Between(IReadOnlyList<ManifestDocument> before, IReadOnlyList<ManifestDocument> after, IReadOnlySet<string> touched)
    {
        var changes = new List<DocumentChange>();
        var text = new StringBuilder();
        var old = before.Where(d => d.Name is not null).ToDictionary(Key, StringComparer.Ordinal);
        foreach (var document in after.Where(d => d.Name is not null))
        {
            var key = Key(document);
            if (!old.Remove(key, out var previous))
            {
                changes.Add(new DocumentChange(document.Type, document.Name!, "added"));
                text.Append($"+ {document.Type} '{document.Name}' (added, {document.Where})\n");
                AppendLines(text, '+', Lines(ManifestRedaction.Redact(document.Text)));
            }
            else if (previous.Text != document.Text)
            {
                changes.Add(new DocumentChange(document.Type, document.Name!, "changed"));
                text.Append($"~ {document.Type} '{document.Name}' (changed, was {previous.Where}, now {document.Where})\n");
                var (was, now) = (ManifestRedaction.Apply(previous.Text), ManifestRedaction.Apply(document.Text));
                if (was.Text != now.Text)
                {
                    AppendDiff(text, Lines(was.Text), Lines(now.Text));
                }

                if (!was.MaskedValues.SequenceEqual(now.MaskedValues, StringComparer.Ordinal))
                {
                    text.Append($"  ! secret values ({ManifestRedaction.Mask}) changed; neither is shown\n");
                }
            }
            else if (touched.Contains(key))
            {
                changes.Add(new DocumentChange(document.Type, document.Name!, "unchanged"));
            }
        }

        foreach (var removed in old.Values)
        {
            changes.Add(new DocumentChange(removed.Type, removed.Name!, "removed"));
            text.Append($"- {removed.Type} '{removed.Name}' (removed, was {removed.Where})\n");
            AppendLines(text, '-', Lines(ManifestRedaction.Redact(removed.Text)));
        }

        return new ConfigDiff(changes, text.Length == 0 ? "No changes: the configuration in force already says this.\n" : text.ToString());
    }

    private static string Key(ManifestDocument document) => ManifestOverlay.KeyOf(document.Type, document.Name!);

    private static string[] Lines(string text) => text.TrimEnd('\n').Split('\n');

    private static void AppendLines(StringBuilder text, char mark, IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            text.Append("  ").Append(mark).Append(' ').Append(line).Append('\n');
        }
    }

    /// <summary>A line diff of <paramref name="a"/> to <paramref name="b"/>, with <see cref="Context"/> unchanged lines around each change.</summary>
    private static void AppendDiff(StringBuilder text, string[] a, string[] b)
    {
        if (a.Length > MaxLcsLines || b.Length > MaxLcsLines)
        {
            AppendLines(text, '-', a);
            AppendLines(text, '+', b);
            return;
        }

        // lcs[i, j]: the longest common subsequence of a[i..] and b[j..].
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        var script = new List<(char Mark, string Line)>();
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                script.Add((' ', a[x++]));
                y++;
            }
            else if (x < a.Length && (y == b.Length || lcs[x + 1, y] >= lcs[x, y + 1]))
            {
                // Removals first, as diff tools show them: the old line above its replacement.
                script.Add(('-', a[x++]));
            }
            else
            {
                script.Add(('+', b[y++]));
            }
        }

        var skipped = false;
        for (var k = 0; k < script.Count; k++)
        {
            var from = Math.Max(0, k - Context);
            var near = script.Skip(from).Take(k + Context - from + 1).Any(s => s.Mark != ' ');
            if (!near)
            {
                if (!skipped)
                {
                    text.Append("    ...\n");
                    skipped = true;
                }

                continue;
            }

            skipped = false;
            text.Append("  ").Append(script[k].Mark).Append(' ').Append(script[k].Line).Append('\n');
        }
    }
}
