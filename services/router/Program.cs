using Gateway.Aspire.Router.Apis;
using Gateway.Aspire.Router.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapOpenAiApi();
app.MapAdminApi();

app.Run();
