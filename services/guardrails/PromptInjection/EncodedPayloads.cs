using System.Buffers;
using System.Text;

namespace Gateway.Aspire.Guardrails.PromptInjection;

/// <summary>
/// Finds base64 and hex blocks and decodes the ones that turn out to be text, so that instructions
/// hidden as <c>aWdub3JlIGFsbCBwcmV2aW91cy...</c> are scored like plain ones. Binary payloads (images,
/// hashes, keys, JWT signatures) do not decode to readable text and are skipped.
/// </summary>
internal static class EncodedPayloads
{
    /// <summary>Shortest block worth decoding (15 bytes of text: shorter cannot hold an instruction).</summary>
    private const int MinBase64Length = 20;

    private const int MinHexLength = 24;

    /// <summary>At most this many blocks are decoded per text, and at most this many characters in all: a body full of base64 costs a bounded amount.</summary>
    private const int MaxBlocks = 32;

    private const int MaxDecodedChars = 64 * 1024;

    private static readonly SearchValues<char> s_base64 = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_");

    /// <summary>The readable texts hidden in <paramref name="text"/>'s encoded blocks.</summary>
    public static List<string> Decode(string text)
    {
        var decoded = new List<string>();
        var budget = MaxDecodedChars;
        var blocks = 0;
        var i = 0;
        while (i < text.Length && blocks < MaxBlocks && budget > 0)
        {
            if (!s_base64.Contains(text[i]))
            {
                i++;
                continue;
            }

            var start = i;
            while (i < text.Length && s_base64.Contains(text[i]))
            {
                i++;
            }

            var block = text.AsSpan(start, i - start);
            while (i < text.Length && text[i] == '=')
            {
                i++;
            }

            if (block.Length < MinBase64Length)
            {
                continue;
            }

            blocks++;
            var plain = IsHex(block) ? (block.Length >= MinHexLength ? FromHex(block) : null) : FromBase64(block);
            if (plain is not null)
            {
                decoded.Add(plain.Length > budget ? plain[..budget] : plain);
                budget -= plain.Length;
            }
        }

        return decoded;
    }

    private static bool IsHex(ReadOnlySpan<char> block) => !block.ContainsAnyExcept("0123456789abcdefABCDEF");

    private static string? FromHex(ReadOnlySpan<char> block)
    {
        var bytes = new byte[block.Length / 2];
        return Convert.FromHexString(block[..(bytes.Length * 2)], bytes, out _, out var written) == OperationStatus.Done
            ? Readable(bytes.AsSpan(0, written))
            : null;
    }

    private static string? FromBase64(ReadOnlySpan<char> block)
    {
        // Normalise URL-safe base64 and restore the padding the scan stripped.
        var padded = new char[(block.Length + 3) / 4 * 4];
        for (var c = 0; c < padded.Length; c++)
        {
            padded[c] = c >= block.Length ? '=' : block[c] switch { '-' => '+', '_' => '/', var other => other };
        }

        if (block.Length % 4 == 1)
        {
            return null; // never valid base64
        }

        var bytes = new byte[padded.Length / 4 * 3];
        return Convert.TryFromBase64Chars(padded, bytes, out var written) ? Readable(bytes.AsSpan(0, written)) : null;
    }

    /// <summary>The bytes as text when they are valid UTF-8 that is mostly letters and spaces; else null.</summary>
    private static string? Readable(ReadOnlySpan<byte> bytes)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (ArgumentException)
        {
            return null;
        }

        var letters = 0;
        var spaces = 0;
        foreach (var c in text)
        {
            if (char.IsControl(c) && c is not ('\n' or '\r' or '\t'))
            {
                return null;
            }

            letters += char.IsLetter(c) ? 1 : 0;
            spaces += c == ' ' ? 1 : 0;
        }

        // Words separated by spaces: random-looking text has neither.
        return letters * 10 >= text.Length * 6 && spaces > 0 ? text : null;
    }
}
