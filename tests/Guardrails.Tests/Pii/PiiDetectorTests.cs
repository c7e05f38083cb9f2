using Gateway.Aspire.Guardrails.Pii;

namespace Gateway.Aspire.Guardrails.Tests.Pii;

/// <summary>Tricky positives and negatives per detector: each case names the one value the scanner must find, or none.</summary>
public sealed class PiiDetectorTests
{
    private static readonly PiiScanner Scanner = new();

    [Theory]
    [InlineData("Mail j.doe+billing@sub.example.co.uk today", "j.doe+billing@sub.example.co.uk")]
    [InlineData("(maria.lopez@example.org)", "maria.lopez@example.org")]
    [InlineData("end of sentence a.b@example.com.", "a.b@example.com")]
    [InlineData("mailto:ops@acme-corp.io", "ops@acme-corp.io")]
    [InlineData("the literal text 'user@domain'", null)]
    [InlineData("export logo@2x.png for retina", null)]
    [InlineData("a@b.c has a one-letter TLD", null)]
    [InlineData("use the @Override annotation", null)]
    public void Email(string text, string? expected) => AssertFinds(text, PiiType.Email, expected);

    [Theory]
    [InlineData("Call me on +44 20 7946 0958 or at the office.", "+44 20 7946 0958")]
    [InlineData("US office: +1 (415) 555-0132.", "+1 (415) 555-0132")]
    [InlineData("ring (415) 555-0132 now", "(415) 555-0132")]
    [InlineData("my cell 415.555.0132", "415.555.0132")]
    [InlineData("Berlin +49 (0)30 1234 5678", "+49 (0)30 1234 5678")]
    [InlineData("Paris 01 23 45 67 89", "01 23 45 67 89")]
    [InlineData("UK mobile 07700 900123", "07700 900123")]
    [InlineData("E.164 +14155550132 only", "+14155550132")]
    [InlineData("call me at 4155550132", "4155550132")]
    [InlineData("Contact Mei (07583 917396) for access.", "07583 917396")]
    [InlineData("Upgrade to version 1.2.3.4 of the SDK.", null)]
    [InlineData("ISBN 978-3-16-148410-0", null)]
    [InlineData("Order number 4155550132 shipped", null)]
    [InlineData("Ticket 800-555-0199 closed", null)]
    [InlineData("on 2024-11-05 at 14:00", null)]
    [InlineData("Windows build 10.0.19045.2965", null)]
    [InlineData("SKU 123-456-7890 is out", null)]
    [InlineData("Old style 0521.113.45.28", null)]
    [InlineData("Her employee number is 00123456 and badge 7788.", null)]
    [InlineData("The customer's number is 516-607-0607, she prefers calls.", "516-607-0607")]
    public void Phone(string text, string? expected) => AssertFinds(text, PiiType.Phone, expected);

    [Theory]
    [InlineData("My card is 4111 1111 1111 1111, expiry 09/28.", "4111 1111 1111 1111")]
    [InlineData("Contact: 5500-0000-0000-0004", "5500-0000-0000-0004")]
    [InlineData("amex 3782 822463 10005 ok", "3782 822463 10005")]
    [InlineData("4111111111111111 12/25 123", "4111111111111111")]
    [InlineData("card 4111 1111 1111 1111 09 28", "4111 1111 1111 1111")]
    [InlineData("Order number 4111 1111 1111 1112 shipped yesterday.", null)]
    [InlineData("internal id 7231297032711028 is not a card", null)]
    [InlineData("Device IMEI 356938035643809 is blacklisted.", null)]
    [InlineData("IBAN CH86 6063 2952 8163 8381 6 was rejected", null)]
    [InlineData("reference 41111111111111111111111 is long", null)]
    public void CreditCard(string text, string? expected) => AssertFinds(text, PiiType.CreditCard, expected);

    [Theory]
    [InlineData("Wire it to DE89 3704 0044 0532 0130 00 please.", "DE89 3704 0044 0532 0130 00")]
    [InlineData("IBAN GB82WEST12345698765432.", "GB82WEST12345698765432")]
    [InlineData("DE89 3704 0044 0532 0130 00 EUR", "DE89 3704 0044 0532 0130 00")]
    [InlineData("Wire it to DE88 3704 0044 0532 0130 00 please.", null)]
    [InlineData("DE89 3704 0044 0532 0130", null)]
    [InlineData("XX89 3704 0044 0532 0130 00", null)]
    public void Iban(string text, string? expected) => AssertFinds(text, PiiType.Iban, expected);

    [Theory]
    [InlineData("SSN on file: 123-45-6789.", "123-45-6789")]
    [InlineData("my SSN is 123456789", "123456789")]
    [InlineData("social security number 123 45 6789", "123 45 6789")]
    [InlineData("The form shows 000-12-3456 which is not valid.", null)]
    [InlineData("666-12-3456", null)]
    [InlineData("912-12-3456", null)]
    [InlineData("123-00-4567", null)]
    [InlineData("123-45-0000", null)]
    [InlineData("customer id 123456789", null)]
    [InlineData("Part number 123-45-6789 is back-ordered.", null)]
    [InlineData("ID-123-45-6789", null)]
    public void UsSsn(string text, string? expected) => AssertFinds(text, PiiType.UsSsn, expected);

    [Theory]
    [InlineData("Routing number 021000021, account 123456789012.", "021000021")]
    [InlineData("ABA 011000015", "011000015")]
    [InlineData("021000021 is the routing number", "021000021")]
    [InlineData("customer 021000021 called", null)]
    [InlineData("Routing number 021000022 fails the checksum", null)]
    [InlineData("Routing 400000000 has an unassigned prefix", null)]
    public void AbaRouting(string text, string? expected) => AssertFinds(text, PiiType.AbaRouting, expected);

    [Theory]
    [InlineData("Routing number 021000021, account 026009593.", "026009593")]
    [InlineData("Bank account number: 12345678901.", "12345678901")]
    [InlineData("A/C 3008-139642, sort code 20-00-00.", "3008-139642")]
    [InlineData("Your user account 48213 was locked", null)]
    [InlineData("Game account 4821377 reached level 40", null)]
    public void BankAccount(string text, string? expected) => AssertFinds(text, PiiType.BankAccount, expected);

    [Theory]
    [InlineData("Server 10.0.0.12 failed the health check", "10.0.0.12")]
    [InlineData("block 1.2.3.4 at the firewall", "1.2.3.4")]
    [InlineData("also check 2001:db8::1.", "2001:db8::1")]
    [InlineData("mapped ::ffff:192.0.2.1 here", "::ffff:192.0.2.1")]
    [InlineData("link-local fe80::1ff:fe23:4567:890a%eth0", "fe80::1ff:fe23:4567:890a")]
    [InlineData("Upgrade to version 1.2.3.4 of the SDK.", null)]
    [InlineData("Install v1.2.3.4 today", null)]
    [InlineData("OID 1.3.6.1.4.1 is private", null)]
    [InlineData("300.1.2.3 is not an address", null)]
    [InlineData("01.02.03.04 has leading zeros", null)]
    [InlineData("at 10:30:45 daily", null)]
    [InlineData("MAC 00:1A:2B:3C:4D:5E", null)]
    [InlineData("use std::vector here", null)]
    public void IpAddress(string text, string? expected) => AssertFinds(text, PiiType.IpAddress, expected);

    [Theory]
    [InlineData("export OPENAI_API_KEY=sk-proj-a8F3kLmN0pQrStUvWxYz1234567890abcdEFGH", "sk-proj-a8F3kLmN0pQrStUvWxYz1234567890abcdEFGH")]
    [InlineData("The AWS key AKIAIOSFODNN7EXAMPLE was leaked.", "AKIAIOSFODNN7EXAMPLE")]
    [InlineData("token ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6 ok", "ghp_aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6")]
    [InlineData("slack xoxb-123456789012-123456789012-aBcDeFgHiJkLmNoPqRsTuVwX", "xoxb-123456789012-123456789012-aBcDeFgHiJkLmNoPqRsTuVwX")]
    [InlineData("jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")]
    [InlineData("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]
    [InlineData("Server=db;User Id=app;Password=S3cr3tP@ssw0rd!;", "S3cr3tP@ssw0rd!")]
    [InlineData("DB_PASSWORD: 'hunter2-2024'", "hunter2-2024")]
    [InlineData("https://example.com/reset?token=Qm9vbGVhbkZhbHNlVHJ1ZQ2x9Kp7Lm3Nq8Rs1Tu4Vw6Yz", "Qm9vbGVhbkZhbHNlVHJ1ZQ2x9Kp7Lm3Nq8Rs1Tu4Vw6Yz")]
    [InlineData("password=${DB_PASSWORD} from the environment", null)]
    [InlineData("api_key: <your key here>", null)]
    [InlineData("Install sk-learn? No, scikit-learn.", null)]
    [InlineData("placeholder sk-xxxxxxxxxxxxxxxxxxxxxxxx here", null)]
    [InlineData("AKIAXXXXXXXXXXXXXXXX in the example", null)]
    [InlineData("AKIAIOSFODNN7EXAMPLEX is one too long", null)]
    [InlineData("Request 3f2b8c1e-9d4a-4e7b-8c2d-1a2b3c4d5e6f failed", null)]
    [InlineData("Commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed it", null)]
    [InlineData("Rename getUserAccountByEmailAddress2 to findUser", null)]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----", null)]
    public void Secret(string text, string? expected) => AssertFinds(text, PiiType.Secret, expected);

    [Fact]
    public void Secret_PemPrivateKeyBlock_IsOneMatch()
    {
        const string key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1x2y3z\nabcDEF123ghi\n-----END RSA PRIVATE KEY-----";
        AssertFinds($"Here it is:\n{key}\nthanks", PiiType.Secret, key);
    }

    [Theory]
    [InlineData("DOB: 04/12/1985", "04/12/1985")]
    [InlineData("She was born on March 3, 1990 in Lyon.", "March 3, 1990")]
    [InlineData("Date of birth 1985-12-04.", "1985-12-04")]
    [InlineData("Patient D.O.B. 12 May 1979, allergic", "12 May 1979")]
    [InlineData("The meeting is on 2024-11-05.", null)]
    [InlineData("Born in a small town, she moved in 1990.", null)]
    [InlineData("stubborn since 04/12/1985", null)]
    public void DateOfBirth(string text, string? expected) => AssertFinds(text, PiiType.DateOfBirth, expected);

    [Fact]
    public void Scan_ReportsTypeSpanAndConfidence_SortedWithoutOverlap()
    {
        const string text = "Mail a@example.com, card 4111 1111 1111 1111, host 10.0.0.1, phone +1 415 555 0132.";

        var matches = Scanner.Scan(text);

        Assert.Equal([PiiType.Email, PiiType.CreditCard, PiiType.IpAddress, PiiType.Phone], matches.Select(m => m.Type));
        Assert.Equal("4111 1111 1111 1111", matches[1].ValueIn(text));
        Assert.All(matches, m => Assert.InRange(m.Confidence, PiiScanner.MinConfidence, 1));
        Assert.All(matches.Zip(matches.Skip(1)), pair => Assert.True(pair.First.End <= pair.Second.Start));
    }

    [Fact]
    public void Scan_WithTypes_RunsOnlyThose()
    {
        const string text = "Mail a@example.com, card 4111 1111 1111 1111.";

        var matches = Scanner.Scan(text, [PiiType.CreditCard]);

        Assert.Equal(PiiType.CreditCard, Assert.Single(matches).Type);
    }

    [Fact]
    public void PiiTypes_NamesAndLabels_RoundTrip()
    {
        foreach (var type in PiiTypes.All)
        {
            Assert.True(PiiTypes.TryParse(PiiTypes.Name(type), out var parsed));
            Assert.Equal(type, parsed);
        }

        Assert.Equal("credit_card", PiiTypes.Name(PiiType.CreditCard));
        Assert.Equal("CARD", PiiTypes.PlaceholderLabel(PiiType.CreditCard));
        Assert.False(PiiTypes.TryParse("creditcard", out _));
    }

    private static void AssertFinds(string text, PiiType type, string? expected)
    {
        var found = Scanner.Scan(text).Where(m => m.Type == type).Select(m => m.ValueIn(text)).ToList();
        if (expected is null)
        {
            Assert.True(found.Count == 0, $"expected no {type} in \"{text}\", found [{string.Join(", ", found)}]");
        }
        else
        {
            Assert.Equal([expected], found);
        }
    }
}
