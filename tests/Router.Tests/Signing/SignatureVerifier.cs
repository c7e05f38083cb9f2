using System.Security.Cryptography;
using System.Text;

namespace Gateway.Aspire.Router.Tests.Signing;

/// <summary>The verification a client does, as docs/ARCHITECTURE.md (Signed responses) shows it.</summary>
internal static class SignatureVerifier
{
    public static bool VerifyBody(byte[] body, string signature, string secret) =>
        CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body))),
            Encoding.ASCII.GetBytes(signature));

    /// <summary>
    /// Checks every event of a signed stream: the bytes of the event's lines before its
    /// <c>: x-gateway-signature=</c> line must have that signature. Returns the number of signed
    /// events; throws when one does not verify or an event is unsigned.
    /// </summary>
    public static int VerifyStream(byte[] stream, string secret)
    {
        var prefix = ": x-gateway-signature="u8.ToArray();
        var signed = 0;
        var eventStart = 0;
        var eventSigned = false;
        var position = 0;
        while (position < stream.Length)
        {
            var end = Array.IndexOf(stream, (byte)'\n', position);
            var line = stream.AsSpan(position, (end < 0 ? stream.Length : end + 1) - position);
            if (line.StartsWith(prefix))
            {
                var signature = Encoding.ASCII.GetString(line[prefix.Length..].TrimEnd("\r\n"u8));
                if (!VerifyBody(stream[eventStart..position], signature, secret))
                {
                    throw new InvalidDataException($"Event {signed + 1} does not verify.");
                }

                signed++;
                eventSigned = true;
            }
            else if (line.TrimEnd("\r\n"u8).IsEmpty)
            {
                if (!eventSigned)
                {
                    throw new InvalidDataException($"Event {signed + 1} has no signature.");
                }

                eventStart = position + line.Length;
                eventSigned = false;
            }

            position += line.Length;
        }

        return signed;
    }
}
