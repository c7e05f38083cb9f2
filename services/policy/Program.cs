using Gateway.Aspire.Policy.Admission;
using Gateway.Aspire.Policy.Budgets;
using Gateway.Aspire.Policy.Configuration;
using Gateway.Aspire.Policy.Extensions;
using Gateway.Aspire.Policy.Identities;
using Gateway.Aspire.Policy.Tokens;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<AdmissionService>();
app.MapGrpcService<TokensService>();
app.MapGrpcService<IdentitiesService>();
app.MapGrpcService<SpendService>();
app.MapGrpcService<ConfigService>();

app.Run();
