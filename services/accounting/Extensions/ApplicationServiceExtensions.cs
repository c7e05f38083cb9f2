using Gateway.Aspire.Accounting.Data;
using Gateway.Aspire.Accounting.Ledger;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Gateway.Aspire.Accounting.Extensions;

/// <summary>Composition of the accounting service.</summary>
public static class ApplicationServiceExtensions
{
    /// <summary>PostgreSQL (the <c>accounting</c> schema, migrated at start), gRPC and the ledger.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDataSource("gatewaydb");
        builder.AddSchemaMigrations(AccountingMigrations.Schema, AccountingMigrations.All);

        builder.Services.AddGrpc();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<LedgerWriter>();
        return builder;
    }
}
