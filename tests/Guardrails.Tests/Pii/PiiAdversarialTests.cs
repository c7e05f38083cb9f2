using System.Text;
using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Tests.Pii;

/// <summary>
/// Hostile 1 MB inputs finish: every regex is NonBacktracking and every validator bounded, so cost
/// stays linear. Completion is asserted, not time (the benchmarks measure time).
/// </summary>
public sealed class PiiAdversarialTests
{
    private const int Size = 1 << 20;

    private static readonly PiiScanner Scanner = new();

    public static TheoryData<string> Inputs => new()
    {
        "digits",
        "spaced digits",
        "dashed digits",
        "at signs",
        "local parts",
        "dotted quads",
        "colons",
        "token characters",
        "pem headers",
        "mixed",
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void OneMegabyte_ScanCompletes(string kind)
    {
        var text = Build(kind);

        var matches = Scanner.Scan(text);

        Assert.True(matches.Count < Size);
        Assert.All(matches.Zip(matches.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Start));
    }

    [Fact]
    public void OneMegabyte_StreamedInSmallDeltas_Completes()
    {
        var text = Build("mixed")[..(Size / 8)];
        var filter = new StreamingPiiFilter(Scanner, null, new PiiMaskSession(), mask: true, restore: true);
        var length = 0;
        for (var i = 0; i < text.Length; i += 64)
        {
            length += filter.Push(text.Substring(i, Math.Min(64, text.Length - i))).Length;
        }

        length += filter.Flush().Length;
        Assert.True(length > 0);
    }

    private static string Build(string kind) => kind switch
    {
        "digits" => new string('7', Size),
        "spaced digits" => Repeat("4 "),
        "dashed digits" => Repeat("4111-"),
        "at signs" => Repeat("@"),
        "local parts" => Repeat("a.") + "@",
        "dotted quads" => Repeat("1.2."),
        "colons" => Repeat("a:1:"),
        "token characters" => Repeat("aB3/"),
        "pem headers" => Repeat("-----BEGIN RSA PRIVATE KEY-----"),
        _ => Repeat("call +44 (0) 20 7946 0958 mail a@b.co 4111 1111 1111 1111 DE89 3704 0044 0532 0130 00 10.0.0.1 ::1 sk-abc [EMAIL_1 "),
    };

    private static string Repeat(string unit)
    {
        var builder = new StringBuilder(Size + unit.Length);
        while (builder.Length < Size)
        {
            builder.Append(unit);
        }

        return builder.ToString();
    }
}
