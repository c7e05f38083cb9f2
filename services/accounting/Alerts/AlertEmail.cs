using MimeKit;

namespace Gateway.Aspire.Accounting.Alerts;

/// <summary>The email an <c>email</c> target receives for one alert.</summary>
public static class AlertEmail
{
    /// <summary>
    /// A plain-text message from <paramref name="from"/> to <paramref name="to"/>: subject
    /// <c>[gateway] &lt;kind&gt;: &lt;rule&gt;</c>, the alert's one-line message, then its JSON (the
    /// webhook body) for mail filters and scripts. The Message-ID is derived from the alert id, so a
    /// mail system can drop the copy a repeated delivery would bring.
    /// </summary>
    public static MimeMessage Create(AlertEntry alert, string from, IEnumerable<string> to)
    {
        var message = new MimeMessage
        {
            Subject = $"[gateway] {alert.Kind}: {alert.Fields.GetValueOrDefault(ServiceDefaults.Alerts.AlertQueue.Rule)}",
            MessageId = $"{alert.Id}.alert@gateway",
            Date = alert.Time,
            Body = new TextPart("plain") { Text = $"{alert.Message()}\n\n{System.Text.Encoding.UTF8.GetString(alert.ToJson())}\n" },
        };
        message.From.Add(MailboxAddress.Parse(from));
        foreach (var address in to)
        {
            message.To.Add(MailboxAddress.Parse(address));
        }

        return message;
    }
}
