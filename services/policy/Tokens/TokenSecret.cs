using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Aspire.Policy.Tokens;

/// <summary>
/// The format of gateway tokens: <c>gw-vat-</c> (virtual account) or <c>gw-pat-</c> (personal)
/// followed by 43 base64url characters (32 random bytes), and how they are hashed for storage and
/// lookup. Tokens issued before personal tokens existed are <c>gw-vat-</c> tokens of this same shape.
/// </summary>
/// <remarks>
/// SHA-256 rather than a slow password hash (PBKDF2, Argon2) is deliberate: the secrets are 256
/// bits from a CSPRNG, so there is nothing to brute-force from a stolen hash, and a fast hash keeps
/// the admission hot path under a microsecond. Slow hashes only help low-entropy secrets.
/// </remarks>
public static class TokenSecret
{
    /// <summary>Prefix of virtual-account tokens.</summary>
    public const string VirtualAccountPrefix = "gw-vat-";

    /// <summary>Prefix of personal access tokens.</summary>
    public const string PersonalPrefix = "gw-pat-";

    /// <summary>Length of either prefix.</summary>
    public const int PrefixLength = 7;

    /// <summary>Random bytes in a token.</summary>
    public const int SecretBytes = 32;

    /// <summary>Characters of the base64url (unpadded) encoding of <see cref="SecretBytes"/>.</summary>
    public const int SecretChars = 43;

    /// <summary>Total length of a token.</summary>
    public const int Length = 50; // prefix (7) + SecretChars

    /// <summary>How many characters of a token are kept in clear to identify it (e.g. <c>gw-vat-AbCd</c>).</summary>
    public const int DisplayPrefixLength = 11;

    /// <summary>Bytes of a token hash.</summary>
    public const int HashBytes = SHA256.HashSizeInBytes;

    /// <summary>A new token from <see cref="RandomNumberGenerator"/> with <paramref name="prefix"/> (default: virtual account).</summary>
    public static string Generate(string prefix = VirtualAccountPrefix)
    {
        Span<byte> secret = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        return prefix + Base64Url.EncodeToString(secret);
    }

    /// <summary>The part of a token that may be shown and stored in clear.</summary>
    public static string DisplayPrefix(string token) => token[..DisplayPrefixLength];

    /// <summary>
    /// The last four characters, stored to tell tokens apart in listings (<c>gw-vat-AbCd…wxyz</c>).
    /// With the prefix, 8 of 43 secret characters are known: 208 random bits remain.
    /// </summary>
    public static string Last4(string token) => token[^4..];

    /// <summary>
    /// Whether <paramref name="token"/> has the shape of a gateway token: a cheap check, done before
    /// any cache or database lookup so garbage costs nothing.
    /// </summary>
    public static bool IsWellFormed(ReadOnlySpan<char> token)
    {
        if (token.Length != Length
            || !(token.StartsWith(VirtualAccountPrefix, StringComparison.Ordinal) || token.StartsWith(PersonalPrefix, StringComparison.Ordinal)))
        {
            return false;
        }

        foreach (var c in token[PrefixLength..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        // 43 characters carry 258 bits: the last one may only encode 4 significant bits. Rejecting
        // non-canonical endings keeps one secret = one spelling = one hash.
        return Base64Url.IsValid(token[PrefixLength..], out var decoded) && decoded == SecretBytes
            && IsCanonicalEnding(token[^1]);
    }

    /// <summary>SHA-256 of the token's UTF-8 (ASCII) bytes.</summary>
    public static byte[] Hash(string token)
    {
        var hash = new byte[HashBytes];
        Hash(token, hash);
        return hash;
    }

    /// <summary>SHA-256 of the token's UTF-8 bytes into <paramref name="destination"/>.</summary>
    public static void Hash(ReadOnlySpan<char> token, Span<byte> destination)
    {
        // Tokens are 50 ASCII characters: hashing them allocates nothing.
        var byteCount = Encoding.UTF8.GetByteCount(token);
        Span<byte> utf8 = byteCount <= 256 ? stackalloc byte[256] : new byte[byteCount];
        var written = Encoding.UTF8.GetBytes(token, utf8);
        SHA256.HashData(utf8[..written], destination);
    }

    private static bool IsCanonicalEnding(char last)
    {
        // The final character's two low bits of its 6-bit value must be zero.
        var value = last switch
        {
            >= 'A' and <= 'Z' => last - 'A',
            >= 'a' and <= 'z' => last - 'a' + 26,
            >= '0' and <= '9' => last - '0' + 52,
            '-' => 62,
            _ => 63,
        };
        return (value & 0b11) == 0;
    }
}
