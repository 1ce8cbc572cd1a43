"""Customers: buyer profiles (客户档案), consent and opt-out, masking, export and erasure."""
