using System.Security.Cryptography;
using System.Text;

namespace Gateway.Aspire.Router.Signing;

/// <summary>
/// HMAC-SHA256 signatures of what the router sends on <c>/v1/*</c>, with the secret from
/// <c>Router:Signing:Secret</c> (or <c>GATEWAY_SIGNING_SECRET</c>): a complete body's signature goes
/// in the <c>x-gateway-signature</c> header, a stream's in a comment line closing each event
/// (<see cref="SigningPipeWriter"/>). Signatures are lowercase hex.
/// </summary>
internal sealed class ResponseSigner
{
    /// <summary>The header carrying a complete body's signature.</summary>
    public const string Header = "x-gateway-signature";

    /// <summary>How a stream event's signature line starts (an SSE comment: every SSE client skips it).</summary>
    public static ReadOnlySpan<byte> StreamLinePrefix => ": x-gateway-signature="u8;

    /// <summary>Hex characters of one signature.</summary>
    public const int HexLength = 2 * HMACSHA256.HashSizeInBytes;

    private readonly byte[] _key;

    /// <summary>Creates a signer with <paramref name="secret"/> (its UTF-8 bytes are the key).</summary>
    public ResponseSigner(string secret) => _key = Encoding.UTF8.GetBytes(secret);

    /// <summary>Writes the lowercase hex signature of <paramref name="data"/> into <paramref name="hex"/> (<see cref="HexLength"/> bytes).</summary>
    public void Sign(ReadOnlySpan<byte> data, Span<byte> hex)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, data, mac);
        Convert.TryToHexStringLower(mac, hex, out _);
    }

    /// <summary>The signature of <paramref name="data"/> as a string (for the header).</summary>
    public string Sign(ReadOnlySpan<byte> data)
    {
        Span<byte> hex = stackalloc byte[HexLength];
        Sign(data, hex);
        return Encoding.ASCII.GetString(hex);
    }
}
