using System.Text;

namespace Gateway.Aspire.Guardrails.Benchmarks;

/// <summary>The texts the benchmarks scan: a realistic support prompt of about 1 KB, and longer ones made of it.</summary>
internal static class Prompts
{
    /// <summary>About 1 KB: prose with an e-mail, a phone number, a card, an IP address and a key, as a user might paste them.</summary>
    public const string Support =
        "Hi team, I need help drafting a reply to a customer escalation that came in over the weekend. "
        + "The customer, Maria Lopez (maria.lopez@example.org, +44 20 7946 0958), says she was charged twice for her "
        + "annual plan on the card ending 1111; the full number she sent us is 4111 1111 1111 1111. Our logs show two "
        + "requests from 10.0.0.12 within a second of each other, which looks like a double submit on the checkout page "
        + "after the 2.14.1025.3 release. Please write a short, friendly apology, explain that the duplicate charge will "
        + "be refunded within five to seven business days, and offer her a one-month credit. Also summarise what went "
        + "wrong for the engineering channel in three bullet points, without any customer details. For context, the "
        + "payment provider dashboard key we used to check the charges was sk-proj-a8F3kLmN0pQrStUvWxYz1234567890abcdEFGH "
        + "and it has since been rotated. Keep the tone warm but professional, avoid promising anything about future "
        + "pricing, and mention that order 2024-11-05-4471 is the one affected. Thanks!";

    /// <summary><see cref="Support"/> repeated to at least <paramref name="size"/> characters, cut at that size.</summary>
    public static string OfSize(int size)
    {
        var builder = new StringBuilder(size + Support.Length);
        while (builder.Length < size)
        {
            builder.Append(Support).Append('\n');
        }

        return builder.ToString(0, size);
    }
}
