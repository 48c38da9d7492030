"""What the pages, the portal and the API read: views composed across contexts, no writes."""
