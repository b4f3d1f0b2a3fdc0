"""Rectification notices (整改通知单, CONTRACT.md §7): from a finding to its fix, with the contractor in the loop."""
