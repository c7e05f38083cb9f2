using Gateway.Aspire.Accounting.Extensions;
using Gateway.Aspire.Accounting.Ledger;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<LedgerService>();

app.Run();
